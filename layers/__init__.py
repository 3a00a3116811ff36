"""Lambda layer recipes: one folder per layer (requirements.txt + build.sh), built by build_layer.py."""

"""The cloud deployment as an AWS CDK v2 app; every name comes from ``chalicelib.catalog``."""

import os

# jsii prints a banner on every start when Node (20 here) is past its upstream end of life; synthesis is unaffected.
# The variable lists the Node major versions whose banner to silence.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

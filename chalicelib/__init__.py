"""Golden Time domain package: services, adapters and models shipped with every function."""

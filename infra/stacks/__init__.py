"""One stack per concern; stateful stacks (messaging, storage, data) never depend on compute stacks."""

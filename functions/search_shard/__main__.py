"""``python -m functions.search_shard``: the AWS Batch container's entry point."""

import sys

from functions.search_shard.handler import main

sys.exit(main())

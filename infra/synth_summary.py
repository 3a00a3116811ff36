"""``make synth``'s last step: what was synthesised (stacks, resources by type) and cfn-lint over it.

    python -m infra.synth_summary [cdk.out]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from infra.config import REPO_ROOT

CFN_LINT_IGNORED = ["W3005"]
"""Redundant DependsOn: CDK adds them on purpose (the same exception tests/infra/test_stacks.py makes)."""
REGION = "ap-northeast-2"


def summarise(outdir: Path) -> int:
    templates = sorted(outdir.glob("*.template.json"))
    if not templates:
        print(f"no templates in {outdir}: run `make synth` first", file=sys.stderr)
        return 2
    total: Counter[str] = Counter()
    for path in templates:
        resources = json.loads(path.read_text()).get("Resources", {})
        kinds = Counter(str(r.get("Type", "?")) for r in resources.values())
        total.update(kinds)
        top = ", ".join(f"{kind.removeprefix('AWS::')} {n}" for kind, n in kinds.most_common(4))
        print(f"  {path.name.removesuffix('.template.json'):32} {len(resources):4} resources  ({top})")
    print(f"  {len(templates)} stacks, {sum(total.values())} resources of {len(total)} types")
    config = ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=[REGION])
    matches = [f"{Path(m.filename).name}:{m.linenumber} {m.rule.id} {m.message}"
               for path in templates for m in lint_file(path, config=config)]
    for match in matches:
        print(f"  cfn-lint {match}")
    print(f"  cfn-lint: {len(matches)} finding(s) over {len(templates)} templates")
    return 1 if matches else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return summarise(Path(args[0]) if args else REPO_ROOT / "cdk.out")


if __name__ == "__main__":
    sys.exit(main())

"""``make synth``'s summary: stacks and resources counted, and cfn-lint's findings fail it."""

from __future__ import annotations

import json

from infra.synth_summary import summarise


def _template(path, resources):
    path.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))


def test_a_clean_synthesis_is_summarised_and_passes(tmp_path, capsys):
    _template(tmp_path / "gt-test-data.template.json", {
        "Records": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
        "Media": {"Type": "AWS::SNS::Topic"}})
    _template(tmp_path / "gt-test-api.template.json", {"Jobs": {"Type": "AWS::SQS::Queue"}})

    assert summarise(tmp_path) == 0
    out = capsys.readouterr().out
    assert "2 stacks, 3 resources of 2 types" in out
    assert "gt-test-data" in out and "SQS::Queue 1" in out
    assert "cfn-lint: 0 finding(s) over 2 templates" in out


def test_cfn_lint_findings_fail_the_summary(tmp_path, capsys):
    _template(tmp_path / "gt-test-bad.template.json", {
        "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "a long time"}}})

    assert summarise(tmp_path) == 1
    out = capsys.readouterr().out
    assert "cfn-lint gt-test-bad.template.json:" in out and "1 finding(s)" in out


def test_nothing_synthesised_says_so(tmp_path, capsys):
    assert summarise(tmp_path) == 2
    assert "make synth" in capsys.readouterr().err

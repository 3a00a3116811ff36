from chalicelib.catalog import build_catalog
from chalicelib.settings import Settings


def test_every_queue_has_a_distinct_dlq_and_sane_redrive():
    catalog = build_catalog("prod")
    names = [q.name for q in catalog.queues.values()] + [q.dlq_name for q in catalog.queues.values()]
    assert len(names) == len(set(names))
    for queue in catalog.queues.values():
        assert queue.dlq_name == f"{queue.name}-dlq"
        assert 1 <= queue.max_receive_count <= 10
        # Lambda's rule of thumb: visibility ≥ 6× the consumer's timeout, so retries never overlap.
        assert queue.visibility_timeout_s >= 6 * queue.consumer_timeout_s


def test_names_are_derived_from_stage_and_never_collide_across_stages():
    prod, dev = build_catalog("prod"), build_catalog("dev")
    assert prod.bucket("xray") == "gt-prod-xray"
    assert set(b.name for b in prod.buckets.values()).isdisjoint(b.name for b in dev.buckets.values())


def test_secrets_are_named_per_stage_so_each_stage_has_its_own_deid_key():
    prod, dev = build_catalog("prod"), build_catalog("dev")
    assert prod.secret("deid-key") == "gt-prod-deid-key"
    assert dev.secret("deid-key") == "gt-dev-deid-key"
    assert prod.secrets["deid-key"].description


def test_notifications_point_at_known_buckets_and_queues():
    catalog = build_catalog("prod")
    for rule in catalog.notifications:
        assert rule.bucket in catalog.buckets
        assert rule.queue in catalog.queues


def test_footage_retention_matches_the_privacy_policy():
    assert build_catalog("prod").buckets["footage"].expire_after_days == Settings().footage_retention_days == 30


def test_settings_read_upper_case_environment_and_reject_bad_values():
    settings = Settings.from_env({"STAGE": "dev", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "UNRELATED": "x"})
    assert settings.stage == "dev"
    assert settings.aws_endpoint_url == "http://127.0.0.1:4566"
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings.from_env({"STAGE": "Not A Stage!"})


def test_every_queue_has_a_consumer_so_no_message_waits_for_nobody():
    catalog = build_catalog("test")
    unread = [q.logical for q in catalog.queues.values() if not q.consumer]
    assert unread == []
    assert "dispatch-112" not in catalog.queues  # search answers go to 112 like every other dispatch

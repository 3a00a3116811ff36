import pytest

from local.scheduler import ScheduleBinding, Scheduler, rate_seconds, scheduled_event


@pytest.mark.parametrize(("expression", "seconds"), [("rate(1 minute)", 60), ("rate(5 minutes)", 300),
                                                     ("rate(1 hour)", 3600), ("rate(2 days)", 172800)])
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "cron(0 12 * * ? *)", "rate(5 weeks)", "every 5m"])
def test_unsupported_expressions_are_refused(expression):
    with pytest.raises(ValueError, match="unsupported"):
        rate_seconds(expression)


def test_fire_calls_the_handler_with_an_eventbridge_scheduled_event():
    seen = []
    binding = ScheduleBinding(rule_name="gt-test-sweep", function_name="sweep", period_s=60,
                              handler=lambda event, context: seen.append((event, context.function_name)))
    Scheduler([binding], region="ap-northeast-2").fire(binding)
    event, name = seen[0]
    assert name == "sweep"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:ap-northeast-2:123456789012:rule/gt-test-sweep"]
    assert set(event) == set(scheduled_event("x", "ap-northeast-2"))


def test_scheduler_fires_repeatedly_and_stops_cleanly():
    import threading

    fired = threading.Event()
    count = []

    def handler(event, context):
        count.append(1)
        if len(count) >= 2:
            fired.set()

    scheduler = Scheduler([ScheduleBinding("r", "f", 0.05, handler)], region="ap-northeast-2")
    scheduler.start()
    assert fired.wait(5)
    scheduler.stop()
    settled = len(count)
    threading.Event().wait(0.2)
    assert len(count) == settled


def test_a_paused_scheduler_fires_nothing_until_resumed():
    import threading

    count = []
    scheduler = Scheduler([ScheduleBinding("r", "f", 0.02, lambda event, context: count.append(1))],
                          region="ap-northeast-2")
    scheduler.start()
    try:
        with scheduler.paused():
            held = len(count)
            threading.Event().wait(0.3)  # about 15 periods
            assert len(count) == held
        deadline = threading.Event()
        for _ in range(250):
            if len(count) > held:
                break
            deadline.wait(0.02)
        assert len(count) > held
    finally:
        scheduler.stop()

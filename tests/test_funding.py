"""Funding schedules from the environment and the funding calendar, as pure functions of a given moment."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from config.funding import DEFAULT_SCHEDULES, FundingSchedule, load_funding_schedules
from config.settings import SettingsError
from executor.errors import FundingRejected
from executor.funding import (
    FUNDING_REJECTION_MARGIN,
    FundingWindow,
    clear_of_funding,
    near_funding,
    next_window,
    window_at,
)
from executor.sendguard import SendGuard

COINW = DEFAULT_SCHEDULES["coinw"]
EMPTY = FundingSchedule(times=())


def at(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> datetime:
    return datetime(2024, 3, day, hour, minute, second, tzinfo=timezone.utc)


def seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


# --- configuration -----------------------------------------------------------------------------

def test_defaults_coinw_three_times_a_day_with_10s_before_and_60s_after():
    schedules = load_funding_schedules({})
    assert schedules["coinw"] == FundingSchedule((time(0), time(8), time(16)), seconds(10), seconds(60))
    assert schedules["coinw"] == DEFAULT_SCHEDULES["coinw"]


def test_defaults_bitget_and_crosstrade_have_no_schedule():
    schedules = load_funding_schedules({})
    assert set(schedules) == {"coinw", "bitget", "crosstrade"}
    assert schedules["bitget"].empty and schedules["crosstrade"].empty
    assert not schedules["coinw"].empty


def test_loading_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("COINW_FUNDING_GUARD_AFTER", "90")
    assert load_funding_schedules()["coinw"].guard_after == seconds(90)


@pytest.mark.parametrize("prefix, venue", [("COINW", "coinw"), ("BITGET", "bitget"), ("CROSSTRADE", "crosstrade")])
def test_every_venue_variable_overrides_its_default(prefix, venue):
    schedule = load_funding_schedules({
        f"{prefix}_FUNDING_TIMES": "04:00, 12:00:30",
        f"{prefix}_FUNDING_GUARD_BEFORE": "5",
        f"{prefix}_FUNDING_GUARD_AFTER": "120",
    })[venue]
    assert schedule == FundingSchedule((time(4), time(12, 0, 30)), seconds(5), seconds(120))


def test_guard_overrides_alone_keep_the_default_times():
    schedule = load_funding_schedules({"COINW_FUNDING_GUARD_BEFORE": "0", "COINW_FUNDING_GUARD_AFTER": "45"})["coinw"]
    assert schedule.times == COINW.times
    assert (schedule.guard_before, schedule.guard_after) == (seconds(0), seconds(45))


def test_times_are_sorted_and_deduplicated_and_accept_hh_mm_ss():
    schedule = load_funding_schedules({"COINW_FUNDING_TIMES": "16:00:00,08:00, 23:59:59,08:00:00"})["coinw"]
    assert schedule.times == (time(8), time(16), time(23, 59, 59))


@pytest.mark.parametrize("value", ["", "   ", "none", "None"])
def test_empty_or_none_times_mean_no_schedule(value):
    assert load_funding_schedules({"COINW_FUNDING_TIMES": value, "BITGET_FUNDING_TIMES": value})["coinw"].empty


def test_empty_guard_means_the_default():
    assert load_funding_schedules({"COINW_FUNDING_GUARD_BEFORE": ""})["coinw"].guard_before == seconds(10)


@pytest.mark.parametrize("variable, value", [
    ("COINW_FUNDING_TIMES", "25:00"),
    ("COINW_FUNDING_TIMES", "08:60"),
    ("COINW_FUNDING_TIMES", "08:00:60"),
    ("COINW_FUNDING_TIMES", "8am"),
    ("BITGET_FUNDING_TIMES", "00:00,noon"),
    ("CROSSTRADE_FUNDING_TIMES", "08-00"),
    ("COINW_FUNDING_GUARD_BEFORE", "-1"),
    ("COINW_FUNDING_GUARD_AFTER", "-60"),
    ("BITGET_FUNDING_GUARD_BEFORE", "ten"),
    ("BITGET_FUNDING_GUARD_AFTER", "1.5"),
    ("CROSSTRADE_FUNDING_GUARD_BEFORE", "-5"),
    ("CROSSTRADE_FUNDING_GUARD_AFTER", "soon"),
])
def test_bad_value_raises_one_line_naming_the_variable(variable, value):
    with pytest.raises(SettingsError) as caught:
        load_funding_schedules({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ") and "\n" not in message


def test_bad_time_message_says_what_is_expected():
    with pytest.raises(SettingsError, match=r"^COINW_FUNDING_TIMES: '25:00' is not a UTC time HH:MM or HH:MM:SS$"):
        load_funding_schedules({"COINW_FUNDING_TIMES": "25:00"})


def test_guards_that_cover_the_whole_day_are_refused():
    with pytest.raises(SettingsError, match="COINW_FUNDING_GUARD_AFTER"):
        load_funding_schedules({"COINW_FUNDING_GUARD_BEFORE": "14400", "COINW_FUNDING_GUARD_AFTER": "14400"})


def test_schedule_refuses_negative_guards_and_normalises_times():
    with pytest.raises(ValueError):
        FundingSchedule((time(8),), seconds(-1), seconds(0))
    with pytest.raises(ValueError, match="every moment"):
        FundingSchedule((time(0), time(8), time(16)), seconds(10), timedelta(hours=8))
    assert FundingSchedule((time(16), time(8), time(16))).times == (time(8), time(16))


# --- the window around 08:00 -------------------------------------------------------------------

@pytest.mark.parametrize("moment, blocked", [
    (at(7, 59, 49), False),
    (at(7, 59, 50), True),   # start is inclusive
    (at(8, 0, 0), True),
    (at(8, 0, 59), True),
    (at(8, 1, 0), False),    # end is exclusive
    (at(12), False),
])
def test_window_at_0800_blocks_from_start_inclusive_to_end_exclusive(moment, blocked):
    assert (window_at("coinw", COINW, moment) is not None) is blocked


def test_window_at_returns_the_window_with_its_times():
    window = window_at("coinw", COINW, at(8, 0, 30))
    assert window == FundingWindow("coinw", at(8), at(7, 59, 50), at(8, 1))
    assert window.contains(at(7, 59, 50)) and not window.contains(at(8, 1))


def test_window_just_before_midnight_belongs_to_the_next_days_funding():
    window = window_at("coinw", COINW, at(23, 59, 50, day=1))
    assert window == FundingWindow("coinw", at(0, day=2), at(23, 59, 50, day=1), at(0, 1, day=2))
    assert window_at("coinw", COINW, at(23, 59, 49, day=1)) is None
    assert window_at("coinw", COINW, at(0, 0, 30, day=2)) == window


def test_window_crossing_midnight_from_a_funding_just_before_it():
    schedule = FundingSchedule((time(23, 59, 30),), seconds(10), seconds(60))
    window = window_at("bitget", schedule, at(0, 0, 20, day=2))
    assert window is not None and (window.start, window.end) == (at(23, 59, 20, day=1), at(0, 0, 30, day=2))


def test_overlapping_windows_merge_and_end_when_trading_is_allowed_again():
    schedule = FundingSchedule((time(8), time(8, 1), time(12)), seconds(30), seconds(90))
    window = window_at("coinw", schedule, at(8, 0, 45))
    assert window == FundingWindow("coinw", at(8), at(7, 59, 30), at(8, 2, 30), later_fundings=(at(8, 1),))
    assert window_at("coinw", schedule, at(8, 2, 0)) == window
    assert window_at("coinw", schedule, at(8, 2, 30)) is None


def test_windows_that_only_touch_merge_too():
    schedule = FundingSchedule((time(8), time(8, 1, 10)), seconds(10), seconds(60))
    window = window_at("coinw", schedule, at(8, 1, 0))
    assert window is not None and window.end == at(8, 2, 10) and window.fundings == (at(8), at(8, 1, 10))


def test_guard_longer_than_the_gap_merges_across_midnight():
    schedule = FundingSchedule((time(0), time(20)), seconds(10), timedelta(hours=5))
    window = window_at("coinw", schedule, at(3))
    assert window == FundingWindow("coinw", at(20, day=1), at(19, 59, 50, day=1), at(5), later_fundings=(at(0),))
    assert window_at("coinw", schedule, at(5)) is None
    assert window_at("coinw", schedule, at(19, 59, 50)) is not None
    assert clear_of_funding("coinw", schedule, at(23, 30, day=1)) == at(5)


def test_empty_schedule_never_blocks():
    for moment in (at(0), at(7, 59, 55), at(8), at(16, 0, 30)):
        assert window_at("bitget", EMPTY, moment) is None
        assert next_window("bitget", EMPTY, moment) is None
        assert clear_of_funding("bitget", EMPTY, moment, timedelta(hours=30)) == moment
        assert not near_funding(EMPTY, moment)


def test_zero_guards_never_block():
    schedule = FundingSchedule((time(8),), seconds(0), seconds(0))
    assert window_at("coinw", schedule, at(8)) is None
    assert clear_of_funding("coinw", schedule, at(7, 59), seconds(120)) == at(7, 59)


def test_naive_datetimes_are_refused():
    naive = datetime(2024, 3, 2, 8)
    for call in (lambda: window_at("coinw", COINW, naive), lambda: next_window("coinw", COINW, naive),
                 lambda: clear_of_funding("coinw", COINW, naive), lambda: near_funding(COINW, naive)):
        with pytest.raises(ValueError, match="naive"):
            call()
    with pytest.raises(ValueError):
        FundingWindow("coinw", at(8), at(7, 59, 50), at(8, 1)).contains(naive)


def test_other_time_zones_are_read_in_utc():
    tokyo = timezone(timedelta(hours=9))
    assert window_at("coinw", COINW, datetime(2024, 3, 2, 17, 0, 30, tzinfo=tokyo)) is not None
    assert clear_of_funding("coinw", COINW, datetime(2024, 3, 2, 17, 0, 30, tzinfo=tokyo)) == at(8, 1)


# --- next window, clearance, nearness, description --------------------------------------------

def test_next_window_is_the_current_one_when_inside():
    assert next_window("coinw", COINW, at(8, 0, 5)) == window_at("coinw", COINW, at(8, 0, 5))


def test_next_window_is_the_next_to_start_when_outside():
    assert next_window("coinw", COINW, at(9)).funding_at == at(16)
    assert next_window("coinw", COINW, at(8, 1)).funding_at == at(16)
    assert next_window("coinw", COINW, at(16, 1)).funding_at == at(0, day=3)
    assert next_window("coinw", COINW, at(23, 59, 49)).start == at(23, 59, 50)


def test_clear_of_funding_is_now_outside_windows_and_the_window_end_inside():
    assert clear_of_funding("coinw", COINW, at(12)) == at(12)
    assert clear_of_funding("coinw", COINW, at(7, 59, 50)) == at(8, 1)
    assert clear_of_funding("coinw", COINW, at(23, 59, 55, day=1)) == at(0, 1, day=2)


def test_clear_of_funding_defers_a_job_that_would_run_into_the_next_window():
    assert clear_of_funding("coinw", COINW, at(7, 59, 30), seconds(30)) == at(8, 1)
    assert clear_of_funding("coinw", COINW, at(7, 59, 30), seconds(20)) == at(7, 59, 30)


def test_clear_of_funding_skips_windows_too_close_together_for_the_job():
    schedule = FundingSchedule((time(8), time(8, 5), time(16)), seconds(10), seconds(60))
    assert clear_of_funding("coinw", schedule, at(8, 0, 30), seconds(180)) == at(8, 1)
    assert clear_of_funding("coinw", schedule, at(8, 0, 30), seconds(300)) == at(8, 6)


def test_clear_of_funding_refuses_a_job_longer_than_any_gap():
    with pytest.raises(ValueError):
        clear_of_funding("coinw", COINW, at(12), timedelta(hours=8))
    with pytest.raises(ValueError):
        clear_of_funding("coinw", COINW, at(12), seconds(-1))
    longest = timedelta(hours=8) - seconds(70)
    assert clear_of_funding("coinw", COINW, at(8, 0, 30), longest) == at(8, 1)


@pytest.mark.parametrize("moment, near", [
    (at(7, 58), True),
    (at(8, 2), True),
    (at(8, 2, 1), False),
    (at(7, 57, 59), False),
    (at(23, 59, day=1), True),
    (at(12), False),
])
def test_near_funding_within_the_default_margin(moment, near):
    assert FUNDING_REJECTION_MARGIN == timedelta(minutes=2)
    assert near_funding(COINW, moment) is near


def test_near_funding_with_a_custom_margin():
    assert near_funding(COINW, at(8, 10), timedelta(minutes=10))
    assert not near_funding(COINW, at(8, 10), timedelta(minutes=5))


def test_describe_gives_one_human_line():
    assert window_at("coinw", COINW, at(8)).describe() == (
        "CoinW funding at 08:00:00 UTC: no trading from 07:59:50 to 08:01:00 UTC")
    assert window_at("coinw", COINW, at(23, 59, 55, day=1)).describe() == (
        "CoinW funding at 00:00:00 UTC: no trading from 23:59:50 to 00:01:00 UTC")


def test_describe_a_merged_window_names_every_funding_time():
    schedule = FundingSchedule((time(8), time(8, 1)), seconds(30), seconds(90))
    assert window_at("bitget", schedule, at(8)).describe() == (
        "Bitget funding at 08:00:00 and 08:01:00 UTC: no trading from 07:59:30 to 08:02:30 UTC")


class _Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def test_one_guard_refuses_inside_each_window_wherever_its_clock_goes():
    """The guard remembers the stretch it found clear; every move of the clock out of it is checked again."""
    clock = _Clock(at(7))
    guard = SendGuard(None, {"coinw": COINW}, max_wait=1.0, clock=clock)  # type: ignore[arg-type]
    path = [(at(7, 59, 49), False), (at(7, 59, 50), True), (at(8, 0, 59), True), (at(8, 1), False),
            (at(15, 59, 49), False), (at(15, 59, 55), True), (at(8, 0, 30), True), (at(7), False),
            (at(16, 0, 30), True)]
    for moment, refused in path:
        clock.moment = moment
        if refused:
            with pytest.raises(FundingRejected, match="CoinW funding at"):
                guard.refuse_inside_funding("coinw")
        else:
            guard.refuse_inside_funding("coinw")
    guard.refuse_inside_funding("bitget")  # no schedule: never refused

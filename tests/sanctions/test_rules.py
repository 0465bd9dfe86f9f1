"""The escalation rules as plain values: Wenzhou's defaults and a configured variant."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sanctions.rules import EscalationRules, Imposed, OutOfContact, propose

T0 = datetime(2026, 3, 1, tzinfo=UTC)
D = timedelta(days=1)


def kinds(proposals):
    return [(p.kind.value, p.rule_key) for p in proposals]


def test_out_of_contact_steps():
    rules = EscalationRules()
    # still silent after 5 days: nothing yet (it may still pass 10 days)
    assert propose(rules, now=T0 + 5 * D, contacts=[OutOfContact(1, T0, None)], imposed=[]) == []
    # back after exactly 10 days: 训诫
    assert kinds(propose(rules, now=T0 + 20 * D, contacts=[OutOfContact(1, T0, T0 + 10 * D)], imposed=[])) == [
        ("admonition", f"contact:1:{T0.isoformat()}")]
    # still silent after 10 days and a minute: 警告 at once, the same step key
    assert kinds(propose(rules, now=T0 + 10 * D + timedelta(minutes=1), contacts=[OutOfContact(1, T0, None)],
                         imposed=[])) == [("warning", f"contact:1:{T0.isoformat()}")]
    # more than a month: the revocation proposal as well
    assert kinds(propose(rules, now=T0 + 31 * D, contacts=[OutOfContact(1, T0, None)], imposed=[])) == [
        ("warning", f"contact:1:{T0.isoformat()}"), ("revocation_proposal", f"contact:1:{T0.isoformat()}:revocation")]


def test_counting_rules_count_each_group_once():
    rules = EscalationRules()
    adm = [Imposed(i, "admonition", T0 + i * D) for i in (3, 5, 8)]
    assert kinds(propose(rules, now=T0, contacts=[], imposed=adm)) == [("warning", "admonitions:3,5")]
    war = [Imposed(i, "warning", T0 + i * D) for i in (11, 12, 13, 14)]
    assert kinds(propose(rules, now=T0, contacts=[], imposed=war)) == [
        ("revocation_proposal", "warnings:11,12"), ("revocation_proposal", "warnings:13,14")]


def test_configured_rule_changes_the_thresholds():
    rules = EscalationRules(admonish_max_days=3, revoke_days=60, admonitions_to_warning=3)
    assert kinds(propose(rules, now=T0 + 9 * D, contacts=[OutOfContact(7, T0, T0 + 4 * D)], imposed=[])) == [
        ("warning", f"contact:7:{T0.isoformat()}")]
    adm = [Imposed(i, "admonition", T0 + i * D) for i in (1, 2)]
    assert propose(rules, now=T0, contacts=[], imposed=adm) == []

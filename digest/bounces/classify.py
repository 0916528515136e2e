"""What a report means for the subscription it concerns: a pure function over a Report."""

from __future__ import annotations

from dataclasses import dataclass

from digest.bounces.reports import Report
from digest.bounces.values import ReportType
from digest.vocabulary import FeedbackKind

# ARF feedback types that are a person (or their provider) calling our mail unwanted.
COMPLAINT_TYPES = ("abuse", "fraud")
FAILED_ACTIONS = ("failed", "delayed")


@dataclass(frozen=True, slots=True)
class Verdict:
    """``kind`` None: nothing to act on (a delivery notice, a not-spam report); ``reason`` says why."""

    kind: FeedbackKind | None
    status_code: str  # "5.1.1", or the complaint's feedback type
    diagnostic: str
    reason: str = ""


def classify(report: Report) -> Verdict:
    """Hard bounce for a 5.x.x status, soft for 4.x.x, complaint for an abuse or fraud report.

    Of several recipients (lanyard sends one per message, a forwarding server may report
    more), the most serious failure decides.
    """
    if report.type == ReportType.FEEDBACK:
        if report.feedback_type in COMPLAINT_TYPES:
            return Verdict(FeedbackKind.COMPLAINT, report.feedback_type, "")
        return Verdict(None, report.feedback_type, "", f"feedback type {report.feedback_type!r} is not a complaint")
    failures = [r for r in report.recipients if r.action in FAILED_ACTIONS]
    if not failures:
        actions = ", ".join(sorted({r.action or "(none)" for r in report.recipients}))
        return Verdict(None, "", "", f"no failed recipient (action {actions})")
    hard = [r for r in failures if r.status.startswith("5.") and r.action == "failed"]
    soft = [r for r in failures if r.status.startswith("4.") or (r.status.startswith("5.") and r.action == "delayed")]
    if hard:
        return Verdict(FeedbackKind.HARD_BOUNCE, hard[0].status, hard[0].diagnostic)
    if soft:
        return Verdict(FeedbackKind.SOFT_BOUNCE, soft[0].status, soft[0].diagnostic)
    first = failures[0]
    return Verdict(
        None, first.status, first.diagnostic, f"a failure without a usable status code ({first.status or 'none'})"
    )

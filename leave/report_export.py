"""The leave audit report as CSV (Excel) or PDF (print), via core.table_export.

Labels are Chinese, as the report is read and signed in the bureau; the CSV
is the full row table only (one table per file, so Excel opens it as is); the
PDF has a compact row table plus totals, flag counts and the reconciliation.
"""
from __future__ import annotations

from typing import Any

from core.localtime import LOCAL_TZ
from core.table_export import render_csv, render_pdf

STATUS = {"pending": "待审批", "approved": "批准", "rejected": "不批准", "withdrawn": "已撤回"}
LEVEL = {"office": "司法所", "bureau": "区司法局", None: ""}
OUTCOME = {"returned_on_time": "按时销假", "returned_late": "逾期销假", "not_returned": "逾期未销假",
           "on_leave": "外出中", "not_started": "未出发", "extension": "延期（见原请假）", "": ""}
FLAG = {"wrong_level": "审批层级不符", "approved_after_departure": "出发后才审批",
        "overlapping_approval": "批准了时间重叠的请假", "no_reason": "决定未说明理由", "self_approved": "本人审批",
        "repeated_requests": "短期内多次请假", "no_audit_record": "缺少审计记录"}
ROLE = {"supervisee": "本人", "officer": "司法所工作人员", "manager": "区司法局", None: ""}

COLUMNS = ["编号", "延期自", "矫正对象", "司法所", "申请人", "申请人身份", "申请时间", "应审批层级", "审批人",
           "审批层级", "出发时间", "返回时间", "天数", "决定", "决定时间", "决定用时（小时）", "决定理由",
           "销假时间", "结果", "外出期间违规次数", "异常标记"]


def _row(r: dict[str, Any]) -> list[Any]:
    return [r["id"], r["parent_id"], r["supervisee"], r["office"], r["requester"], ROLE.get(r["requester_role"], ""),
            r["requested_at"], LEVEL[r["required_level"]], r["approver"], LEVEL.get(r["decided_level"], ""),
            r["depart_at"], r["return_due_at"], r["total_days"], STATUS.get(r["decision"], r["decision"]),
            r["decided_at"], r["hours_to_decision"], r["decision_reason"], r["returned_at"],
            OUTCOME.get(r["outcome"], r["outcome"]), r["violations"], "；".join(FLAG[f] for f in r["flags"])]


# The PDF table is narrower: core.table_export sizes columns by content, and
# with 21 columns on A4 a short column gets narrower than one Chinese character,
# which fpdf2's character wrapping never finishes. Headers of >= 4 characters
# keep every column at least one character wide (checked with 13 maximal columns).
PDF_COLUMNS = ["请假编号", "矫正对象", "司法所", "申请人", "外出时间", "外出天数", "层级（应/实）", "审批人",
               "审批决定", "决定用时（小时）", "决定理由", "结果", "违规次数", "异常标记"]


def _short(t) -> str:
    return t.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") if t else ""


def _pdf_row(r: dict[str, Any]) -> list[Any]:
    ext = f"（延期自 {r['parent_id']}）" if r["parent_id"] else ""
    return [f"{r['id']}{ext}", r["supervisee"], r["office"], f"{r['requester']}（{ROLE.get(r['requester_role'], '')}）",
            f"{_short(r['depart_at'])} 至 {_short(r['return_due_at'])}", r["total_days"],
            f"{LEVEL[r['required_level']]}/{LEVEL.get(r['decided_level'], '') or '—'}", r["approver"],
            STATUS.get(r["decision"], r["decision"]), r["hours_to_decision"], r["decision_reason"],
            OUTCOME.get(r["outcome"], r["outcome"]), r["violations"], "；".join(FLAG[f] for f in r["flags"])]


def report_csv(report: dict[str, Any]) -> bytes:
    return render_csv(COLUMNS, [_row(r) for r in report["rows"]])


def report_pdf(report: dict[str, Any]) -> bytes:
    where, period = report["jurisdiction"], report["period"]
    totals = [[t["office"], t["month"], t["requests"], t["approved"], t["rejected"], t["withdrawn"], t["pending"],
               t["flagged"]] for t in report["totals"]]
    rec = report["reconciliation"]
    names = {"requests": "申请", "approvals": "批准", "rejections": "不批准"}
    reconciliation = [[names[k], rec["report"][k], rec["audit"][k], "一致" if rec["report"][k] == rec["audit"][k]
                       else "不一致"] for k in names]
    flags = [[FLAG[f], n] for f, n in report["flag_counts"].items()]
    return render_pdf(
        "社区矫正对象外出请假审批审计报告",
        f"{where['name']}　统计期间 {period['from']} 至 {period['to']}",
        [("请假记录", PDF_COLUMNS, [_pdf_row(r) for r in report["rows"]]),
         ("按司法所和月份汇总", ["司法所", "月份", "申请", "批准", "不批准", "撤回", "待审批", "有异常"], totals),
         ("异常标记统计", ["异常", "条数"], flags),
         ("与审计日志核对" + ("（一致）" if rec["ok"] else "（不一致，请核查）"),
          ["项目", "报告", "审计日志", "核对"], reconciliation)],
        generated_at=report["generated_at"],
    )

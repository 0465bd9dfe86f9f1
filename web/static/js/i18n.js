// zh-CN by default, English available. Times are always shown in Asia/Shanghai,
// whatever the browser's own zone is.
const ZH = {
  brand: "智矫", title: "智矫 社区矫正监管平台", username: "用户名", password: "密码", login: "登录", logout: "退出",
  desk: "告警台", map: "地图", approvals: "请假审批与报表", me: "我的", supervisee: "矫正对象",
  checkins: "报到", risk: "风险与奖惩", cameras: "视频监控",
  live: "实时", connecting: "连接中", reconnecting: "重新连接中…", off: "未连接",
  all: "全部", kind: "类型", state: "状态", severity: "级别", time: "时间", person: "对象", alert: "告警",
  open: "待处理", acknowledged: "已确认", resolved: "已处置", sound: "声音提示",
  acknowledge: "确认", assign: "指派", note: "备注", resolve: "处置", reason: "原因", add: "添加",
  escalated: "已升级", escalation: "升级", level: "级", evidence: "证据", notes: "备注记录", none: "无",
  confirmed_violation: "确认违规", false_alarm: "误报", excused: "有正当理由", police_notified: "已通知公安",
  withdrawn: "系统撤回", distance_outside: "越界距离", inside_by: "区域内", accuracy: "精度", fixes: "定位点",
  left_permitted_area: "越出许可区域", outside_leave_destination: "越出请假目的地", curfew_breach: "违反居家时段",
  entered_exclusion_zone: "进入禁止区域", signal_lost: "失去信号", device: "设备异常", integrity: "定位可疑",
  overdue_return: "逾期未销假", missed_checkin: "未按时报到", term_ending: "矫正期将满", notice: "提醒", obligation_shortfall: "学习公益时数不足", low: "低", medium: "中", high: "高", critical: "紧急",
  curfew: "居家时段",
  select_alert: "选择一条告警查看详情", wrong_login: "用户名或密码错误", session_expired: "会话已过期，请重新登录",
  record: "档案", tier: "管理等级", strict: "严管", ordinary: "普管", lenient: "宽管", office: "司法所",
  sentence: "刑罚类型", term: "矫正期限", residence: "居住地", devices: "设备", last_seen: "最后上报",
  fences: "电子围栏", leave: "请假", alerts: "告警", track: "轨迹", from: "从", to: "至", show: "显示",
  permitted: "许可区域", leave_destination: "请假目的地", exclusion: "禁止区域", positions: "最新位置",
  show_fences: "显示围栏", open_record: "打开档案", replay: "回放",
  obligations: "今日须知", ask_leave: "申请外出请假", destination: "目的地", depart: "出发时间",
  return_time: "返回时间", submit: "提交", my_leave: "我的请假", report_back: "销假报到",
  pending: "待审批", approved: "已批准", rejected: "已驳回",
  approve: "批准", reject: "驳回", queue: "待审批请假", report: "请假审计报表", download_csv: "下载 CSV",
  download_pdf: "下载 PDF", requests: "申请", flagged: "异常", violations: "违规", by_office: "按司法所",
  by_month: "按月份", escalated_alerts: "已升级告警", load: "查询", done: "已完成",
  checkin_cadence_strict: "每周至少报到一次", checkin_cadence_ordinary: "每两周报到一次",
  checkin_cadence_lenient: "每月报到一次", stay_in_area: "未经批准不得离开许可活动区域：",
  coming_soon: "此功能将在相应模块上线后开放",
  checkin_due: "今日报到", checkin_none: "现在没有需要完成的报到", checkin_start: "开始报到", closes: "截止",
  checkin_kind_daily: "每日报到", checkin_kind_window: "定时报到", checkin_kind_report: "报到", checkin_kind_spot: "随机点名",
  locating: "正在获取位置…", no_position: "无法获取位置，请允许定位", challenge_prompt: "动作提示",
  photo_neutral: "正面自拍（表情自然）", photo_challenge: "按提示拍照", checkin_received: "已提交，工作人员将核查",
  review_queue: "报到审核", checkin_history: "报到记录",
  spot_check: "发起随机点名", no_submission: "未提交", photo: "照片", photo_unavailable: "照片不可用",
  location: "位置", face: "人脸", liveness: "活体", decide_confirm: "确认违规", decide_overturn: "撤销（无违规）",
  ledger_missed: "未报到", ledger_missed_outage: "系统故障期间未报到", ledger_failed: "报到未通过",
  outcome_passed: "通过", outcome_review: "待审核", compliance: "各司法所报到情况", month: "月份",
  compliance_on_time: "按时", compliance_in_review: "审核中", compliance_missed: "未报到",
  compliance_missed_outage: "故障未报到", compliance_failed: "确认未通过",
  scheduled: "未开始", due: "进行中", submitted: "已提交", missed: "未报到", missed_outage: "故障未报到", cancelled: "已取消",
  admin: "系统管理", notices: "通知", camera_health: "视频监控状态", online: "在线", degraded: "不稳定",
  offline: "离线", unknown: "未检测", offline_share: "离线比例", outage_since: "离线告警起于", last_probe: "最近检测",
  decided: "已决定", term_ended: "矫正期满",
};
const EN = {
  brand: "zhijiao", title: "zhijiao community corrections", username: "Username", password: "Password",
  login: "Log in", logout: "Log out", desk: "Alert desk", map: "Map", approvals: "Leave & reports", me: "Me",
  supervisee: "Supervisee", checkins: "Check-ins", risk: "Risk & sanctions", cameras: "Cameras",
  live: "Live", connecting: "Connecting", reconnecting: "Reconnecting…", off: "Offline",
  all: "All", kind: "Kind", state: "State", severity: "Severity", time: "Time", person: "Person", alert: "Alert",
  open: "Open", acknowledged: "Acknowledged", resolved: "Resolved", sound: "Sound",
  acknowledge: "Acknowledge", assign: "Assign", note: "Note", resolve: "Resolve", reason: "Reason", add: "Add",
  escalated: "Escalated", escalation: "Escalation", level: "level", evidence: "Evidence", notes: "Notes", none: "None",
  confirmed_violation: "Confirmed violation", false_alarm: "False alarm", excused: "Excused",
  police_notified: "Police notified", withdrawn: "Withdrawn", distance_outside: "Distance outside", inside_by: "inside by",
  accuracy: "accuracy", fixes: "fixes", left_permitted_area: "Left permitted area",
  outside_leave_destination: "Outside leave destination", curfew_breach: "Curfew breach",
  entered_exclusion_zone: "Entered exclusion zone", signal_lost: "Signal lost", device: "Device",
  integrity: "Integrity", overdue_return: "Overdue return", missed_checkin: "Missed check-in", term_ending: "Term ending", notice: "Notice", obligation_shortfall: "Hours short", low: "Low",
  medium: "Medium", high: "High", critical: "Critical", curfew: "Curfew",
  select_alert: "Select an alert to see its detail", wrong_login: "Wrong username or password",
  session_expired: "Session expired, please log in again", record: "Record", tier: "Tier", strict: "Strict",
  ordinary: "Ordinary", lenient: "Lenient", office: "Office", sentence: "Sentence", term: "Term",
  residence: "Residence", devices: "Devices", last_seen: "Last seen", fences: "Fences", leave: "Leave",
  alerts: "Alerts", track: "Track", from: "From", to: "To", show: "Show", permitted: "Permitted area",
  leave_destination: "Leave destination", exclusion: "Exclusion zone", positions: "Last positions",
  show_fences: "Show fences", open_record: "Open record", replay: "Replay", obligations: "Today's obligations",
  ask_leave: "Ask for leave", destination: "Destination", depart: "Depart", return_time: "Return", submit: "Submit",
  my_leave: "My leave", report_back: "Report back (销假)", pending: "Pending", approved: "Approved",
  rejected: "Rejected", approve: "Approve", reject: "Reject", queue: "Leave awaiting decision",
  report: "Leave audit report", download_csv: "Download CSV", download_pdf: "Download PDF", requests: "Requests",
  flagged: "Flagged", violations: "Violations", by_office: "By office", by_month: "By month",
  escalated_alerts: "Escalated alerts", load: "Load", done: "Done",
  checkin_cadence_strict: "Check in at least weekly", checkin_cadence_ordinary: "Check in every two weeks",
  checkin_cadence_lenient: "Check in monthly", stay_in_area: "Do not leave your permitted area without approval: ",
  coming_soon: "Available when that module lands",
  checkin_due: "Check-ins today", checkin_none: "No check-in is open now", checkin_start: "Check in",
  closes: "closes", checkin_kind_daily: "Daily check-in", checkin_kind_window: "Scheduled check-in",
  checkin_kind_report: "Report", checkin_kind_spot: "Spot check", locating: "Finding your position…",
  no_position: "No position: please allow location", challenge_prompt: "Do this",
  photo_neutral: "Selfie, neutral face", photo_challenge: "Photo as asked", checkin_received: "Received: an officer will check it",
  review_queue: "Check-in review", checkin_history: "Check-in history",
  spot_check: "Issue a spot check", no_submission: "Nothing submitted", photo: "Photo",
  photo_unavailable: "Photo unavailable", location: "location", face: "face", liveness: "liveness",
  decide_confirm: "Confirm (it stands)", decide_overturn: "Overturn (it was fine)", ledger_missed: "Missed",
  ledger_missed_outage: "Missed during an outage", ledger_failed: "Failed check-in", outcome_passed: "passed",
  outcome_review: "in review", compliance: "Check-in compliance by office", month: "Month",
  compliance_on_time: "On time", compliance_in_review: "In review", compliance_missed: "Missed",
  compliance_missed_outage: "Missed (outage)", compliance_failed: "Failed (confirmed)",
  scheduled: "Scheduled", due: "Open", submitted: "Submitted", missed: "Missed", missed_outage: "Missed (outage)",
  cancelled: "Cancelled",
  admin: "Administration", notices: "Notices", camera_health: "Camera health", online: "Online",
  degraded: "Degraded", offline: "Offline", unknown: "Not probed", offline_share: "Offline share",
  outage_since: "Outage since", last_probe: "Last probe", decided: "Decided", term_ended: "Term ended",
};
let lang = "zh-CN";

export function t(key) {
  const table = lang === "en" ? EN : ZH;
  return table[key] ?? ZH[key] ?? key;
}

export function getLang() { return lang; }

export function setLang(value) {
  lang = value === "en" ? "en" : "zh-CN";
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  }).format(new Date(iso));
}

// "2026-12-02T08:00" in Shanghai (for <input type=datetime-local>) -> ISO with +08:00.
export function shanghaiInputToIso(value) { return value ? `${value}:00+08:00` : null; }

export function isoToShanghaiInput(date) {
  const shifted = new Date(date.getTime() + 8 * 3600 * 1000);
  return shifted.toISOString().slice(0, 16);
}

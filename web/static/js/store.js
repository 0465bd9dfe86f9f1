// The officer's alerts, keyed by id: a snapshot replaces, each event updates one.
// The same alert arriving twice (a replay after reconnecting) stays one row.
export class AlertStore {
  constructor() { this.alerts = new Map(); this.listeners = new Set(); this.created = []; this.arrived = {}; }

  snapshot(list) {
    for (const a of list) this.alerts.set(a.id, { ...this.alerts.get(a.id), ...a });
    this.emit(null);
  }

  event(msg) {
    if (!msg.alert || msg.truncated) return this.emit(msg);
    const before = this.alerts.get(msg.alert_id);
    this.alerts.set(msg.alert_id, { ...before, ...msg.alert });
    if (msg.event === "created") { this.created.push(msg.alert_id); this.arrived[msg.alert_id] = Date.now(); }
    this.emit(msg);
  }

  update(alert) { this.alerts.set(alert.id, { ...this.alerts.get(alert.id), ...alert }); this.emit(null); }

  subscribe(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(msg) { for (const fn of this.listeners) fn(msg); }
}

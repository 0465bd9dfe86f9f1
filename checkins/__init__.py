"""Check-ins (报到 / 信息化核查): plans, the scheduler, submissions, face review and the ledger."""

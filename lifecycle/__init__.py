"""End of term (解矫, Law art. 44): reminders, release, legal holds, the purge, and PIPL thinning."""

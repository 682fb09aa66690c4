"""Redis access: the client, and the Lua scripts run with EVALSHA. Knows no HTTP."""

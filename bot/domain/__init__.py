"""Pure domain code: no SQL, no Telegram, no storage imports."""

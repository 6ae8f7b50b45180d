"""One screen per job: index, train, chat, compare (plus small modal screens)."""

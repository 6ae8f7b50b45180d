"""What every layer needs and no domain owns: the errors a user can fix (`errors`), files and
folders written so a crash never leaves half of one (`files`), the named points where tests kill
the process (`faults`), quiet logging for chatty libraries (`logs`) and where caches live
(`locations`). Imports nothing of the project; everything else may import it."""

"""Opens a log file for writing at import: every forked sibling would share it."""
LOG = open("/tmp/filewriter.log", "a")
LOG.write("imported\n")
LOG.flush()

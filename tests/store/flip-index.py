# flip-index.py STATE.db: damages the tasks index of a store the way quick_check misses and
# integrity_check finds (tests/store.sh): a key of it changed, in order still, so it names no row.
import sqlite3, sys
p = sys.argv[1]
db = sqlite3.connect(p)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
ps = db.execute("PRAGMA page_size").fetchone()[0]
root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_tasks_1'").fetchone()[0]
ids = [r[0] for r in db.execute("SELECT id FROM tasks ORDER BY id")]
db.close()
data = bytearray(open(p, "rb").read())
page = data[(root - 1) * ps: root * ps]
last = ids[-1].encode()
at = page.rfind(last)
assert at > 0, (ids, root)
# the greatest key's last byte, made greater: the index stays in order, but names no row
data[(root - 1) * ps + at + len(last) - 1] += 1
open(p, "wb").write(data)

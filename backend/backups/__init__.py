"""`dvorik backup` and `dvorik restore`: a portable logical backup of the shop's database.

The database holds everything a shop needs to carry on (customers, codes,
the broadcast ledger, jobs, settings); Redis holds nothing that a restored
database cannot do without (docs/operations.md, "Backups and restore"). A
backup is a gzip'd JSON-lines file (`format`) of every table, read from one
consistent snapshot while the shop runs (`taking`); a restore loads it into
an empty database at the same schema revision in one transaction
(`restoring`). The same file restores into SQLite or MariaDB, whichever it
came from. For databases too big for one transaction, the native tools
(`mariadb-dump --single-transaction`) are the better choice.
"""

from backend.backups.format import BackupError, Header, Reader
from backend.backups.progress import Progress, Silent
from backend.backups.restoring import backup_reader, restore_backup
from backend.backups.taking import backup_file, take_backup

__all__ = [
    "BackupError",
    "Header",
    "Progress",
    "Reader",
    "Silent",
    "backup_file",
    "backup_reader",
    "restore_backup",
    "take_backup",
]

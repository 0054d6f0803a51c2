. "$CASEDIR/../check-lib.sh"
need_rundir
has_content results/cab "from-c
from-a
from-b"
has_content results/ba "ba=from-b
ba=from-a"

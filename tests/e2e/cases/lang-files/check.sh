# The task whose input was missing never started.
test ! -e /tmp/hodos-e2e-lang-files/needs-ran || exit 1
rm -rf /tmp/hodos-e2e-lang-files

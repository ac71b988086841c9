"""Loop over a scatter, one element: print xxx * yyy."""

import sys

print(int(sys.argv[1]) * float(sys.argv[2]))

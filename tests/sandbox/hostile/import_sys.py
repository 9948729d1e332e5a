# expect: forbidden
# sys
import sys

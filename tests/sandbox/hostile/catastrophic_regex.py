# expect: timeout
# exponential backtracking
import re
def solution():
    return bool(re.match('(a+)+$', 'a' * 64 + 'b'))

# expect: forbidden
# re re-exports enum, which leads to the real builtins
import re
def solution():
    return re.enum

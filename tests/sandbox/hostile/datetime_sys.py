# expect: forbidden
# datetime re-exports sys
import datetime
def solution():
    return datetime.sys.modules['os']

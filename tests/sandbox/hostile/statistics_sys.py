# expect: forbidden
# statistics re-exports sys
import statistics
def solution():
    return getattr(statistics, 'sys')

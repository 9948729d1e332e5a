# expect: error
# writing to a shared module (naive setups let one run poison the next)
import math
def solution():
    math.sqrt = lambda x: 0

# expect: forbidden
# os
import os
def solution():
    return os.system('true')

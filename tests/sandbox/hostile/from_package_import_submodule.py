# expect: error|forbidden
# from collections import abc resolves through sys.modules in naive setups
from collections import abc
def solution():
    return abc.sys

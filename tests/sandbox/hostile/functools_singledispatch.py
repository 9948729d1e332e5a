# expect: forbidden
# singledispatch evaluates annotations unrestricted
from functools import singledispatch

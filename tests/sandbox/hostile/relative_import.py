# expect: forbidden
# relative imports
from . import x

# expect: forbidden
# from os import system
from os import system

# expect: forbidden
# _thread
import _thread

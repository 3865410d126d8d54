
1-2 log records had neither body nor attributes
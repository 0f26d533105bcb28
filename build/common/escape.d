build/common/escape.o: common/escape.c common/escape.h
common/escape.h:

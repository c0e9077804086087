#!/bin/sh
# Never reads its (large) event.
echo ok

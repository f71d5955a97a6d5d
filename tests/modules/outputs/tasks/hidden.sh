#!/bin/sh
echo '{"hidden": true}'

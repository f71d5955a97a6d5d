#!/bin/sh
echo '{"deaf": true}'

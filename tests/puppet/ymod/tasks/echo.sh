#!/bin/sh
echo "{\"said\": \"$PT_message\"}"

# The Windows implementation: never chosen for a target without `powershell`.
Write-Output '{"implementation": "powershell"}'

# Defaults, `return` from inside a lambda, and a call of another function.
function demo::label(Array[String] $names, String $sep = ', ') >> String {
  $names.each |$n| {
    if $n == 'stop' {
      return('stopped')
    }
  }
  "${names.join($sep)} (${demo::double($names.length)})"
}

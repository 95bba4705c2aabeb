Feature: Running commands concurrently
  Users run several commands at once, if they like no more than a few at a
  time, and get every command's result back in the order they gave the
  commands, whatever order they finished in. They can ask to stop
  everything at the first failure instead of collecting every result. A
  program the current scope forbids refuses the whole run before anything
  starts, the scope's hooks see every command, and nothing is left running.

  Scenario Outline: Results come back in the order the commands were given
    Given the <backend> backend moves the bytes
    And three commands that print "first", "second" and "third"
    When I run them concurrently
    Then the results say "first", "second" and "third", in that order
    And every command succeeded

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario: No more than two at a time
    Given five commands that each take a moment
    When I run them concurrently, at most 2 at a time
    Then every command succeeded
    And no more than 2 were ever running at once

  Scenario: A failure is reported beside everyone else's results
    Given three commands: one prints "one", one exits with status 3, one prints "three"
    When I run them concurrently
    Then there are 3 results
    And the only failure is the second command, which exited with status 3

  Scenario Outline: Stop everything at the first failure
    Given the <backend> backend moves the bytes
    And a command that exits with status 4 between two that run for a minute
    When I run them concurrently, stopping at the first failure
    Then only the failing command has a result, and it was given second
    And no command is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario: A forbidden program refuses the whole run
    Given a scope that allows only this Python
    When I run this Python and echo concurrently in that scope
    Then the run is refused because echo is forbidden
    And no command was started

  Scenario: The scope's hooks see every command
    Given a before hook and an after hook that record each command
    When I run three commands concurrently
    Then each hook saw each of the three commands once

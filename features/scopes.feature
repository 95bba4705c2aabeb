Feature: Scopes, hooks and the execution context
  Users who came from the older cuprum keep their code: they narrow which
  programs may run for a block of code, register hooks that see every
  command, lay variables over the environment for a block, and hand a run
  its settings in one ExecutionContext. A refused program never starts.

  Scenario: A scope refuses a program it does not allow
    Given a scope that allows only echo
    When I run ls inside it
    Then the run is refused with ForbiddenProgramError naming ls
    And no hook saw ls start

  Scenario: A nested scope cannot widen its parent
    Given a scope that allows only echo
    When I open a scope allowing echo and ls inside it
    Then the inner scope allows echo
    And the inner scope does not allow ls

  Scenario: allow() lets a program run for a block only
    Given a scope that allows only echo
    When I run ls with allow(ls) around it
    Then ls ran and exited 0
    And after the block ls is refused again

  Scenario Outline: Hooks see every stage: before hooks outer first, after hooks inner first
    Given the <backend> backend moves the bytes
    And an outer hook pair and an inner hook pair
    When I run echo hello piped into cat under both
    Then the hooks were called as "outer before echo, inner before echo, outer before cat, inner before cat, inner after echo, outer after echo, inner after cat, outer after cat"

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario: An env() scope and an ExecutionContext set the environment
    Given an env() scope setting STAGE to "scope" and COLOUR to "blue"
    When I run a command showing STAGE and COLOUR with an ExecutionContext setting STAGE to "context"
    Then the command saw STAGE "context" and COLOUR "blue"

  Scenario: A scope's timeout ends a run that gives none
    Given a scope with a timeout of 0.2 seconds
    When I run sleep 10 inside it
    Then the run raises TimeoutExpired after 0.2 seconds
    And no stage is left running

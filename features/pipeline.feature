Feature: Pipelines of commands
  Users join commands from the catalogue with "|" and run them. cuprum moves
  the bytes between the stages, tells how every stage ended, and never
  leaves a process or a descriptor behind. Both backends behave the same way.

  Scenario Outline: Two commands joined by a pipe
    Given the <backend> backend moves the bytes
    When I run echo "hello pipes" piped into tr a-z A-Z
    Then the pipeline succeeds
    And its output is "HELLO PIPES"

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A downstream stage that leaves early
    Given the <backend> backend moves the bytes
    When I run yes piped into head -n 1
    Then the pipeline succeeds within 5 seconds
    And its output is "y"
    And the first stage ended by SIGPIPE without counting as a failure

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A failing stage stops the others
    Given the <backend> backend moves the bytes
    When I run yes piped into false piped into cat
    Then the pipeline fails within 5 seconds
    And the failing stage is stage 1
    And no stage is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A failing stage's output reaches the result
    Given the <backend> backend moves the bytes
    When I run printf "b\na\n" piped into cat - /no/such/file piped into sort
    Then the pipeline fails within 5 seconds
    And the failing stage is stage 1
    And its output lines are "a b"
    And the last stage ended on its own with status 0

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A pipeline that outlives its timeout
    Given the <backend> backend moves the bytes
    When I run yes piped into sleep 30 with a timeout of 1 second
    Then the run times out within 5 seconds
    And no stage is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

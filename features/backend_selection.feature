Feature: Backend selection by environment
  Users choose how cuprum moves bytes with the CUPRUM_STREAM_BACKEND
  environment variable: "python", "rust", or "auto" (the default: Rust when
  the native engine is installed). A wrong choice is reported clearly.

  Scenario: Choosing the pure-Python backend
    Given CUPRUM_STREAM_BACKEND is set to "python"
    When cuprum picks its stream backend
    Then the pure-Python backend is in use

  Scenario: Leaving the choice to cuprum, with the native engine installed
    Given the native engine is installed
    And CUPRUM_STREAM_BACKEND is set to "auto"
    When cuprum picks its stream backend
    Then the Rust backend is in use

  Scenario: Leaving the choice to cuprum, without the native engine
    Given the native engine is not installed
    And CUPRUM_STREAM_BACKEND is set to "auto"
    When cuprum picks its stream backend
    Then the pure-Python backend is in use
    And pumping still works

  Scenario: Not setting the variable at all
    Given CUPRUM_STREAM_BACKEND is not set
    When cuprum picks its stream backend
    Then the Rust backend is in use if the native engine is installed, the pure-Python one otherwise

  Scenario: Asking for Rust, with the native engine installed
    Given the native engine is installed
    And CUPRUM_STREAM_BACKEND is set to "rust"
    When cuprum picks its stream backend
    Then the Rust backend is in use

  Scenario: Asking for Rust, without the native engine
    Given the native engine is not installed
    And CUPRUM_STREAM_BACKEND is set to "rust"
    When cuprum picks its stream backend
    Then the user is told the native engine is not installed, and how to fix that
    And a pump call is refused the same way

  Scenario Outline: A value cuprum does not know
    Given CUPRUM_STREAM_BACKEND is set to "<value>"
    When cuprum picks its stream backend
    Then the user is told "<value>" is not a stream backend, with the valid choices listed
    And a pump call is refused the same way

    Examples:
      | value   |
      | fortran |
      | pyhton  |
      | rust2   |

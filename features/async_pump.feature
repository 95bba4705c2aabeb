Feature: Awaiting a pump in asyncio
  A program built on asyncio awaits a transfer between two pipes while its
  event loop goes on serving other tasks, and can cancel the transfer.

  Scenario Outline: an awaited pump moves a payload while the loop stays free
    Given the <backend> stream backend
    And a producer that will write 256 KiB into a source pipe and close it
    When the program awaits the pump while the loop writes the payload and counts its turns
    Then the destination receives the same 256 KiB
    And the other task ran while the pump was awaited

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: cancelling an awaited pump leaves the descriptors as they were
    Given the <backend> stream backend
    And a source pipe whose producer has written "first" and stays open
    When the program starts awaiting the pump, sees "first" arrive and cancels it
    Then the task ends cancelled
    And both descriptors are still open and blocking
    And data written to the source afterwards is not taken by the pump

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

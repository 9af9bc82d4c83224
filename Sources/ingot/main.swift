import IngotCommands

IngotCommand.runMain()

from services.school.bootstrap import main

main()
